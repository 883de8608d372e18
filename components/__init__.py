"""One ComponentResource per concern; each registers its children with parent=self."""
