"""GDELT event files into Dipwatch records: read, filter, map, collapse, feed."""
