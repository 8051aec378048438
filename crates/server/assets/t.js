/* Leadgate website tracker: records page views of this browser under a first-party cookie id and
   sends them in small batches. Include it once per page:
   <script src="https://LEADGATE/t.js" async></script>
   A link carrying ?lg_cid=<token> (from a Leadgate e-mail) tells who the visitor is. */
(function () {
  "use strict";
  if (window.leadgate && window.leadgate.visitor) return;
  var script = document.currentScript;
  var base = (script && script.getAttribute("data-leadgate")) || (script && new URL(script.src).origin) || "";
  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "v" + Date.now().toString(16) + Math.random().toString(16).slice(2, 14);
  }
  function readCookie(name) {
    var m = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return m ? decodeURIComponent(m[1]) : null;
  }
  var visitor = readCookie("lg_vid");
  if (!visitor) {
    visitor = newId();
    document.cookie = "lg_vid=" + visitor + "; path=/; max-age=34128000; SameSite=Lax" +
      (location.protocol === "https:" ? "; Secure" : "");
  }
  var identify = new URLSearchParams(location.search).get("lg_cid");
  var queue = [];
  var timer = null;
  function flush(beacon) {
    if (!queue.length && !identify) return;
    var body = JSON.stringify({ visitor: visitor, views: queue.splice(0, 100), identify: identify || undefined });
    identify = null;
    // text/plain keeps it a "simple" request: no CORS preflight.
    if (beacon && navigator.sendBeacon) {
      navigator.sendBeacon(base + "/t/collect", new Blob([body], { type: "text/plain" }));
    } else {
      fetch(base + "/t/collect", { method: "POST", body: body, keepalive: true, headers: { "Content-Type": "text/plain" } })
        .catch(function () {});
    }
  }
  function track() {
    queue.push({ id: newId(), url: location.href, title: document.title, referrer: document.referrer || null, at: Date.now() });
    clearTimeout(timer);
    timer = setTimeout(function () { flush(false); }, 500);
  }
  window.leadgate = { visitor: function () { return visitor; }, track: track, flush: function () { flush(false); } };
  addEventListener("pagehide", function () { flush(true); });
  addEventListener("visibilitychange", function () { if (document.visibilityState === "hidden") flush(true); });
  // Single-page sites change the URL without loading a page.
  var push = history.pushState;
  history.pushState = function () { push.apply(this, arguments); track(); };
  addEventListener("popstate", track);
  track();
})();
