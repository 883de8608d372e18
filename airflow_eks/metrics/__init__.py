"""Metrics pieces that live in the cluster beside the Airflow chart (pure builders)."""
