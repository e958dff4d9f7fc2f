"""The investors service: VC firms, theses and matching, warm introductions, funding rounds, the partner API."""
