/* Real-time CDP web tracker: page views, clicks on marked elements, custom events.
 *
 *   cdp.init({endpoint: "https://cdp.example/api/v1/events", key: "<web source key>"});
 *   cdp.identify("C00042");                      // when the visitor is known
 *   cdp.track("product_view", {category: "savings"});
 *   <button data-cdp-click="apply-savings">       // sends {type: "click", element: "apply-savings"}
 *
 * Events are queued and posted in batches (every 2 s or 20 events) as text/plain, so no CORS
 * preflight is needed, and flushed with navigator.sendBeacon when the page is hidden. Each event
 * has its own id: a batch sent twice is stored once.
 */
(function (window, document) {
  "use strict";
  var FLUSH_MS = 2000, FLUSH_EVENTS = 20, MAX_QUEUE = 1000;
  var config = null, queue = [], timer = null, customerId = null;

  function newId() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID().replace(/-/g, "");
    var id = "";
    for (var i = 0; i < 32; i++) id += Math.floor(Math.random() * 16).toString(16);
    return id;
  }
  function anonymousId() {
    try {
      var stored = window.localStorage.getItem("cdp_anonymous_id");
      if (!stored) { stored = "anon-" + newId(); window.localStorage.setItem("cdp_anonymous_id", stored); }
      return stored;
    } catch (e) { return "anon-" + newId(); }
  }
  function url() { return config.endpoint + (config.endpoint.indexOf("?") < 0 ? "?" : "&") + "key=" + encodeURIComponent(config.key); }
  function body(events) { return JSON.stringify({events: events}); }

  function flush(useBeacon) {
    if (!config || !queue.length) return;
    var batch = queue.splice(0, 500);
    if (useBeacon && navigator.sendBeacon) {
      if (navigator.sendBeacon(url(), new Blob([body(batch)], {type: "text/plain"}))) return;
    }
    fetch(url(), {method: "POST", body: body(batch), keepalive: true, mode: "cors", headers: {"Content-Type": "text/plain"}})
      .then(function (response) {
        if (response.status >= 500 || response.status === 429) queue = batch.concat(queue).slice(0, MAX_QUEUE);
      })
      .catch(function () { queue = batch.concat(queue).slice(0, MAX_QUEUE); });
  }
  function schedule() {
    if (queue.length >= FLUSH_EVENTS) { flush(false); return; }
    if (!timer) timer = setTimeout(function () { timer = null; flush(false); }, FLUSH_MS);
  }
  function track(type, attributes) {
    if (queue.length >= MAX_QUEUE) queue.shift();
    queue.push({
      event_id: newId(),
      type: type,
      customer_id: customerId || anonymousId(),
      timestamp: Date.now() / 1000,
      attributes: attributes || {}
    });
    schedule();
  }
  function pageView() {
    track("page_view", {url: String(window.location.href).slice(0, 1000), title: String(document.title).slice(0, 1000), referrer: String(document.referrer).slice(0, 1000)});
  }

  window.cdp = {
    init: function (options) {
      config = {endpoint: options.endpoint, key: options.key};
      if (options.customerId) customerId = String(options.customerId);
      if (options.pageViews !== false) pageView();
      document.addEventListener("click", function (event) {
        var element = event.target && event.target.closest ? event.target.closest("[data-cdp-click]") : null;
        if (element) track("click", {element: element.getAttribute("data-cdp-click"), url: String(window.location.href).slice(0, 1000)});
      }, true);
      document.addEventListener("visibilitychange", function () { if (document.visibilityState === "hidden") flush(true); });
      window.addEventListener("pagehide", function () { flush(true); });
    },
    identify: function (id) { customerId = String(id); },
    track: track,
    flush: function () { flush(false); }
  };
})(window, document);
