-- wrk script: every request records one page view for the contact given in CONTACT_ID.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("LEADGATE_KEY")
local contact = os.getenv("CONTACT_ID")
local n = 0
request = function()
  n = n + 1
  local body = '{"contact_id":"' .. contact .. '","kind":"page_view","source":"Google","properties":{"url":"https://example.com/page/' .. (n % 40) .. '"}}'
  return wrk.format(nil, "/api/v1/events", nil, body)
end
