"""synth_dagster.qa"""
