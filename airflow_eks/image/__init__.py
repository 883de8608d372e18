"""The Airflow image family, pure: the stack's own ECR registry (names, lifecycle and repository
policies, pull-through cache rules) and deploying Airflow by digest.

`registry` says what the registry component (components/registry.py) creates and how the rest
of the stack finds it; `digest` turns an image digest into the chart values and image
references that make every Airflow pod, Job and task pod run exactly that image. Nothing here
registers a resource.
"""
