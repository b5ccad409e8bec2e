"""Fault injection for the chaos suite and the fault tests (see ``proxy``)."""
