"""The operators' console: topic dashboards, dead letters, the flow of verifications, awarding
bodies, regions, the catalogue watch and codes, served as web pages of its own."""
