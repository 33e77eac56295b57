"""Does every artifact compute the same thing? Runners, the one comparator, parity, reports, bench."""
