"""showctl: the control system of the New Year's Eve of Science live show."""
