-- The inbox's text search matches anywhere in a contact's search text (`LIKE '%…%'`), which no
-- index can seek into. It scans this index instead of the contacts table: the index holds the
-- search text and the id only (the key of a WITHOUT ROWID table), a fraction of a contact row's
-- width, so finding the matches reads far fewer pages; the matches alone are then fetched whole.
CREATE INDEX ix_contacts_search ON contacts (search_text);
