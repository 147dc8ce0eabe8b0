-- Helpers shared by every function of the reddot library (prepended once at load).
-- Every key, and every field of the user hash, is named in counters/keys.py (its layout comment
-- lists them all); the Python side builds the keys, these functions only the field names.
-- Positions go through `str` because Lua numbers are doubles and Redis may print
-- large integral doubles in exponent form; '%d' keeps every integer below 2^53 exact.

local function num(v)
  if v then return tonumber(v) end
  return 0
end

local function str(n)
  return string.format('%d', n)
end

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Set a count field, or delete it at zero so the hash holds only live conversations.
local function put_count(ukey, field, value)
  if value > 0 then
    redis.call('HSET', ukey, field, value)
  else
    redis.call('HDEL', ukey, field)
  end
end

-- The highest position among a conversation's unread messages: the top of its positions zset,
-- or its overflow's highest folded position (the zset may be empty while folded ones remain).
local function top_position(pkey, folded_high)
  local top = redis.call('ZRANGE', pkey, -1, -1, 'WITHSCORES')
  return math.max(num(top[2]), num(folded_high))
end

-- Events are JSON built here rather than by cjson, which formats every number as a double through
-- printf (with the counts also written to the hash as text: ~6 % of an ingest's Valkey time, perf
-- and a paired A/B). Conversation ids (docs/protocol.md §1 charset), marks (hex) and read positions
-- (digits) never need escaping; group names do (cjson). Small counts come from a table: even '%d'
-- costs a format call each.
-- '0' .. '999', built at load: a library's load may not call `string`, but the VM's own number to
-- text conversion ('%.14g') needs no library and is exact for them.
local SMALL = {}
for i = 0, 999 do
  SMALL[i] = '' .. i
end

-- An integer as text: counts and totals, usually small; versions and times through '%d'.
local function text(n)
  return SMALL[n] or str(n)
end

-- One conversation as an event carries it, from text (callers pass '0' for an absent field; `groups`
-- alone may be false): [conv, unread, mentions, recv_opt, marks hex, read position, groups joined
-- by "\n"].
local function view_json(conv, unread, ment, opt, marks, read, groups)
  return '["' .. conv .. '",' .. unread .. ',' .. ment .. ',' .. opt .. ',"' .. marks .. '","' .. read .. '",'
    .. (groups and groups ~= '' and cjson.encode(groups) or '""') .. ']'
end

-- Arguments per call of call_in_slices: unpack() is bounded by Lua's C stack. Even, so field-value
-- pairs stay whole.
local SLICE = 1000

-- Run one command over a long argument list in slices of SLICE. `key`, when given, leads every
-- slice. Returns the slices' array replies joined in order (HMGET's values line up with `list`).
local function call_in_slices(command, key, list)
  local joined, n = {}, 0
  for first = 1, #list, SLICE do
    local last, reply = math.min(first + SLICE - 1, #list), nil
    if key then
      reply = redis.call(command, key, unpack(list, first, last))
    else
      reply = redis.call(command, unpack(list, first, last))
    end
    if type(reply) == 'table' then
      for j = 1, #reply do
        joined[n + j] = reply[j]
      end
      n = n + #reply
    end
  end
  return joined
end

-- The fields of a conversation's view, in view_json's parameter order (the order views_of binds them in).
local VIEW_FIELDS = {'n:', 'm:', 'o:', 'k:', 'r:', 'g:'}

-- The absolute values of many conversations, read from the hash with one HMGET (in slices): a
-- conversation-group function changes up to 1000 at once, and a read each cost ~10 µs of Redis.
local function views_of(ukey, convs)
  local fields, width = {}, #VIEW_FIELDS
  for i, conv in ipairs(convs) do
    local at = (i - 1) * width
    for j = 1, width do
      fields[at + j] = VIEW_FIELDS[j] .. conv
    end
  end
  local values, views = call_in_slices('HMGET', ukey, fields), {}
  for i, conv in ipairs(convs) do
    local unread, ment, opt, marks, read, groups = unpack(values, (i - 1) * width + 1, i * width)
    views[i] = view_json(conv, unread or '0', ment or '0', opt or '0', marks or '0', read or '0', groups)
  end
  return views
end

-- Publish one event: the one place its format is written, for every function. All of it arrives as
-- text, so a caller holding a number's text (ingest) formats nothing twice: the new version, the
-- total, the publish time (ms), the changed conversations (view_json, joined by ','), and `groups`,
-- when given: the new size of every conversation group that changed (cjson.null: deleted).
local function publish(channel, ver, total, ms, views, groups)
  redis.call('SPUBLISH', channel, '{"v":' .. ver .. ',"t":' .. total .. ',"ms":' .. ms
    .. ',"c":[' .. views .. ']' .. (groups and ',"G":' .. cjson.encode(groups) or '') .. '}')
end

-- Bump the user's version and publish one event with the new absolute values, at `ms` (text; nil:
-- now). Returns the version.
local function commit(ukey, channel, convs, ms, groups)
  local ver = redis.call('HINCRBY', ukey, 'v', 1)
  local total = redis.call('HGET', ukey, 't') or '0'
  publish(channel, str(ver), total, ms or str(now_ms()), table.concat(views_of(ukey, convs), ','), groups)
  return ver
end

-- Conversation-group lists are names joined by "\n" (names never hold control characters). Edits
-- work on the list framed as "\n" .. list .. "\n" with plain finds: splitting it with a pattern
-- cost a quarter of a 1000-conversation rename.
local function without(framed, name)
  local at = string.find(framed, '\n' .. name .. '\n', 1, true)
  if not at then
    return framed
  end
  return string.sub(framed, 1, at) .. string.sub(framed, at + #name + 2)
end

-- Edit the group lists of many conversations at once: `drop` leaves each list and `add` joins it at
-- the end (one HMGET, HSET and HDEL for all of them, in slices, rather than two calls each).
local function edit_names(ukey, convs, drop, add)
  local fields, set, gone = {}, {}, {}
  for i, conv in ipairs(convs) do
    fields[i] = 'g:' .. conv
  end
  local lists = call_in_slices('HMGET', ukey, fields)
  for i, field in ipairs(fields) do
    local list = lists[i]
    local framed = list and list ~= '' and '\n' .. list .. '\n' or '\n'
    if drop then
      framed = without(framed, drop)
    end
    if add then
      framed = without(framed, add) .. add .. '\n'
    end
    if #framed > 1 then
      set[#set + 1], set[#set + 2] = field, string.sub(framed, 2, -2)
    else
      gone[#gone + 1] = field
    end
  end
  call_in_slices('HSET', ukey, set)
  call_in_slices('HDEL', ukey, gone)
end

-- Status codes the Python side maps to exceptions (counters/errors.py).
local NOT_FOUND = -404
local CONFLICT = -409
local EXHAUSTED = -429
