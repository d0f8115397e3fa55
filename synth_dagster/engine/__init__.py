"""synth_dagster.engine"""
