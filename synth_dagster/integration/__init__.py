"""synth_dagster.integration"""
