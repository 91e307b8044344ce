"""Intake's adapters to outside libraries: what turns its data into documents."""
