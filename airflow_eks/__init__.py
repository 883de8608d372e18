"""Pure code of the airflow-eks program: configuration, shared names, builders.

Nothing here registers a resource; components/ does that.
"""
