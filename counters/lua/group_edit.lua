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
  local ukey, skey, name = keys[1], keys[2], args[2]
  local size = redis.call('HGET', ukey, 'G:' .. name)
  if not size then
    return NOT_FOUND
  end
  local last_add = 4 + tonumber(args[4])
  local adding, joined, left = {}, {}, {}
  for i = 5, last_add do
    adding[args[i]] = true
    if redis.call('SISMEMBER', skey, args[i]) == 0 then
      joined[#joined + 1] = args[i]
    end
  end
  for i = last_add + 1, #args do
    if not adding[args[i]] and redis.call('SISMEMBER', skey, args[i]) == 1 then
      left[#left + 1] = args[i]
    end
  end
  if tonumber(size) + #joined - #left > tonumber(args[3]) then
    return EXHAUSTED
  end
  if #joined + #left == 0 then
    return num(redis.call('HGET', ukey, 'v'))
  end
  for _, conv in ipairs(joined) do
    redis.call('SADD', skey, conv)
    edit_names(ukey, conv, nil, name)
  end
  for _, conv in ipairs(left) do
    redis.call('SREM', skey, conv)
    edit_names(ukey, conv, name, nil)
    joined[#joined + 1] = conv
  end
  local new_size = redis.call('SCARD', skey)
  redis.call('HSET', ukey, 'G:' .. name, new_size)
  return commit(ukey, args[1], joined, nil, {[name] = new_size})
end)
