"""The no-code campaign designer: cards of fields over the rule spec, htmx edits."""
