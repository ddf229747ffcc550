// Import page: while a job runs, asks the server for its progress every second and moves the bar;
// when the job ends, reloads the page to show the result. Without JavaScript the page has a link.
(function () {
  'use strict';
  var bar = document.getElementById('import-progress');
  if (!bar) { return; }
  var text = document.getElementById('import-progress-text');
  var url = bar.getAttribute('data-status-url');
  function tick() {
    fetch(url, { credentials: 'same-origin', headers: { 'Accept': 'application/json' } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) {
        if (!s) { return; }
        bar.max = s.total;
        bar.value = s.processed;
        bar.textContent = s.processed + ' di ' + s.total;
        if (text) { text.textContent = s.processed + ' di ' + s.total; }
        if (s.running) { setTimeout(tick, 1000); } else { window.location.reload(); }
      })
      .catch(function () { setTimeout(tick, 3000); });
  }
  setTimeout(tick, 500);
})();
