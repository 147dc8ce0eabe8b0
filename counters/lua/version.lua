-- reddot_version: the library's version (VERSION in counters/library.py, which defines
-- LIBRARY_VERSION above the library). Read before a load, so no process replaces a newer library.
-- KEYS, ARGV: none. Returns the version. Publishes nothing.
redis.register_function{
  function_name = 'reddot_version',
  callback = function() return LIBRARY_VERSION end,
  flags = {'no-writes'},
}
