"""The companies service: startups, their people, and (issue 7) the hub program around them."""
