"""Jobs: APScheduler drives them; they call domain services and know no transport."""
