"""Reference data shared by the services, defined once as the contracts are: the
qualification catalogue and the channel book (which channel reaches each awarding body)."""
