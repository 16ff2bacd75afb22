"""Reports: how one is made (drafts, counter intake, files), the lifecycle that is the only writer
of its status, and what staff do to one (edit, merge, return for more, notes, similar ones);
`queries` reads them back (tracking numbers, pages, queues)."""
