"""synth_dagster.mock"""
