-- group_edit: one atomic edit of a conversation group: it becomes (old − remove) ∪ add.
-- KEYS[1]    user hash
-- KEYS[2]    the group's conversation set
-- ARGV[1]    event channel
-- ARGV[2]    group name
-- ARGV[3]    most conversations per group
-- ARGV[4]    how many conversations to add (n)
-- ARGV[5 .. 4+n]  conversations to add; the rest: conversations to remove (distinct: checked in Python)
-- Returns ver, or NOT_FOUND, or EXHAUSTED if the result would pass the per-group limit (nothing changes).
-- Publishes one event with the conversations that joined or left and the group's new size (none
-- joined or left: no event, no version bump).
redis.register_function('group_edit', function(keys, args)
  local ukey, skey = keys[1], keys[2]
  local channel, name, max_size, adds = args[1], args[2], tonumber(args[3]), tonumber(args[4])
  local group_field = 'G:' .. name
  local size = redis.call('HGET', ukey, group_field)
  if not size then
    return NOT_FOUND
  end
  -- Membership of every named conversation in one SMISMEMBER (in slices), not a call each.
  local named = {unpack(args, 5)}  -- at most 2 × 1000 (checked in Python), within unpack's bounds
  local member = call_in_slices('SMISMEMBER', skey, named)
  local adding, joined, left = {}, {}, {}
  for i = 1, adds do
    adding[named[i]] = true
    if member[i] == 0 then
      joined[#joined + 1] = named[i]
    end
  end
  for i = adds + 1, #named do
    if not adding[named[i]] and member[i] == 1 then
      left[#left + 1] = named[i]
    end
  end
  if tonumber(size) + #joined - #left > max_size then
    return EXHAUSTED
  end
  if #joined + #left == 0 then
    return num(redis.call('HGET', ukey, 'v'))
  end
  call_in_slices('SADD', skey, joined)
  call_in_slices('SREM', skey, left)
  edit_names(ukey, joined, nil, name)
  edit_names(ukey, left, name, nil)
  for _, conv in ipairs(left) do
    joined[#joined + 1] = conv
  end
  local new_size = redis.call('SCARD', skey)
  redis.call('HSET', ukey, group_field, new_size)
  return commit(ukey, channel, joined, nil, {[name] = new_size})
end)
