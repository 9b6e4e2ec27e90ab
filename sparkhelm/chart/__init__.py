"""The chart as data the CLI reads: where it is, its defaults and schema, its value documentation."""
