"""synth_dagster.connectors"""
