// owl trace UI: small progressive enhancements. Every page works without it.
(function () {
  'use strict';
  // Filter forms marked data-autosubmit apply a changed select or checkbox at once.
  document.querySelectorAll('form[data-autosubmit]').forEach(function (form) {
    form.querySelectorAll('select, input[type=checkbox]').forEach(function (el) {
      el.addEventListener('change', function () { form.requestSubmit(); });
    });
  });
  // The search page's "live" box refreshes the result list every 5 s.
  var live = document.getElementById('live');
  var results = document.getElementById('results');
  if (live && results) {
    var timer = null;
    var refresh = function () {
      fetch(window.location.href, { headers: { 'Accept': 'text/html' } })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) {
          var doc = new DOMParser().parseFromString(html, 'text/html');
          var fresh = doc.getElementById('results');
          if (fresh) { results.replaceWith(fresh); results = fresh; }
        })
        .catch(function () {});
    };
    live.addEventListener('change', function () {
      if (live.checked) { timer = setInterval(refresh, 5000); } else { clearInterval(timer); }
    });
  }
  // Waterfall: clicking a bar opens that span's details.
  document.querySelectorAll('table.waterfall tr[data-span-id]').forEach(function (tr) {
    var bar = tr.querySelector('td.bar');
    var det = tr.querySelector('details');
    if (bar && det) {
      bar.style.cursor = 'pointer';
      bar.addEventListener('click', function () { det.open = !det.open; });
    }
  });
})();
