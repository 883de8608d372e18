"""Offline plan of the Pulumi program: resource tree, outputs, cost and deploy-time estimates.

Modules: model (records -> deterministic, secret-free JSON), cost (prices.yaml), deploy_time
(durations.yaml), diff, render; build is the only one that runs the engine (airflow_eks/offline/harness.py).
"""
