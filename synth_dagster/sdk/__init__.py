"""synth_dagster.sdk"""
