"""The offline engine: the stack configuration as the Pulumi CLI hands it over, and Pulumi's
mock engine running the whole program. Product code: `make plan` (tools/plan) runs on it, and
the test suite uses the same modules."""
