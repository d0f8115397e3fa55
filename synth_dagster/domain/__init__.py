"""synth_dagster.domain"""
