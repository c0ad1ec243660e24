// The dashboard page (browser code, inlined into the HTML). It draws one snapshot: embedded
// (a report) or fetched, then replaced on every Server-Sent Event (the live dashboard).
/* global uPlot */
(function () {
  'use strict';
  // Okabe–Ito: distinguishable with every common colour-vision deficiency.
  var C = {
    blue: '#0072B2',
    orange: '#E69F00',
    green: '#009E73',
    vermillion: '#D55E00',
    purple: '#CC79A7',
    sky: '#56B4E9',
    black: '#000000',
  };
  var charts = [];
  var current = null;
  var alerts = [];
  var token = new URLSearchParams(location.search).get('token');
  var q = token ? '?token=' + encodeURIComponent(token) : '';

  function $(id) {
    return document.getElementById(id);
  }
  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    if (attrs) for (var k in attrs) if (attrs[k] !== undefined && attrs[k] !== null) e.setAttribute(k, attrs[k]);
    (children || []).forEach(function (c) {
      e.append(c);
    });
    return e;
  }

  // Round a decimal string half-up to `dp` places without floats (money stays exact).
  function roundDec(s, dp) {
    var neg = s.charAt(0) === '-';
    if (neg) s = s.slice(1);
    var parts = s.split('.');
    var frac = (parts[1] || '') + '0'.repeat(dp + 1);
    var n = BigInt(parts[0] + frac.slice(0, dp));
    if (Number(frac.charAt(dp)) >= 5) n += 1n;
    var t = n.toString().padStart(dp + 1, '0');
    var out = dp > 0 ? t.slice(0, t.length - dp) + '.' + t.slice(t.length - dp) : t;
    var int = out.split('.');
    int[0] = int[0].replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    return (neg && n !== 0n ? '-' : '') + int.join('.');
  }
  function money(s, cur) {
    return roundDec(String(s), 4) + ' ' + cur;
  }
  function count(n) {
    return Number(n).toLocaleString('en-US');
  }
  function amount(s, meter, cur) {
    return meter === 'cost' ? money(s, cur || current.currency) : roundDec(String(s), 0) + ' ' + meter;
  }
  function scopeText(s) {
    var keys = Object.keys(s);
    return keys.length === 0
      ? 'all scopes'
      : keys
          .map(function (k) {
            return k + '=' + s[k];
          })
          .join(' / ');
  }
  function utc(ms) {
    return new Date(ms).toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
  }

  function card(id, label, text, exact) {
    return el('div', { class: 'card' }, [
      el('div', { class: 'label' }, [label]),
      el('div', { class: 'value', id: id, 'data-exact': exact, title: exact }, [text]),
    ]);
  }

  function drawTotals(s) {
    var t = s.totals;
    var box = $('totals');
    box.replaceChildren(
      card('total-cost', 'Total cost', money(t.cost, s.currency), t.cost),
      card('total-llm', 'LLM cost', money(t.llmCost, s.currency), t.llmCost),
      card('total-compute', 'Compute cost', money(t.computeCost, s.currency), t.computeCost),
      card('forecast-eom', 'Forecast, end of month', t.forecastEom === null ? '—' : money(t.forecastEom, s.currency), t.forecastEom),
      card('total-calls', 'Calls', count(t.calls), String(t.calls)),
      card('total-failed', 'Failed calls', count(t.failedCalls), String(t.failedCalls)),
      card('total-rate-limited', 'Rate-limited calls', count(t.rateLimitedCalls), String(t.rateLimitedCalls)),
      card('total-tokens', 'Tokens', count(t.tokens), String(t.tokens)),
    );
  }

  function drawGauges(s) {
    var box = $('gauges');
    if (s.budgets.length === 0) {
      box.replaceChildren(el('p', { class: 'empty' }, ['No budgets or quotas on this scope.']));
      return;
    }
    box.replaceChildren.apply(
      box,
      s.budgets.map(function (b) {
        var pct = Math.min(100, b.usagePercent);
        var level = b.isOver
          ? 'over'
          : b.thresholdReached !== null && b.thresholdReached >= 80
            ? 'high'
            : b.thresholdReached !== null
              ? 'mid'
              : 'ok';
        var bar = el(
          'div',
          {
            class: 'bar',
            role: 'meter',
            'aria-valuemin': '0',
            'aria-valuemax': '100',
            'aria-valuenow': String(b.usagePercent),
            'aria-label': b.id + ' used',
          },
          [el('div', { class: 'fill ' + level, style: 'width:' + pct + '%' })],
        );
        b.thresholds.forEach(function (th) {
          bar.append(el('div', { class: 'tick', style: 'left:' + Math.min(100, th) + '%', title: th + ' % threshold' }));
        });
        var cur = b.currency || s.currency;
        var text = amount(b.used, b.meter, cur) + ' of ' + amount(b.max, b.meter, cur) + ' (' + b.usagePercent.toFixed(2) + ' %)';
        return el('div', { class: 'gauge', 'data-limit': b.id }, [
          el('div', { class: 'gauge-head' }, [
            el('strong', null, [b.id]),
            el('span', { class: 'muted' }, [' ' + scopeText(b.scope) + ' · ' + b.period + ' · ' + b.enforcement]),
          ]),
          bar,
          el('div', { class: 'gauge-text' }, [text]),
          el('div', { class: 'muted small' }, [
            'thresholds ' +
              b.thresholds.join(' / ') +
              ' %' +
              (b.thresholdReached !== null ? ' · reached ' + b.thresholdReached + ' %' : '') +
              (b.held !== '0' ? ' · held ' + amount(b.held, b.meter, cur) : ''),
          ]),
        ]);
      }),
    );
  }

  function width(box) {
    return Math.max(260, box.clientWidth - 8);
  }
  function utcDate(ts) {
    return uPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC');
  }

  function plot(box, opts, data) {
    opts.width = width(box);
    opts.tzDate = utcDate;
    // A static legend (series names and colours); values show in the tooltip-less cursor only when hovered.
    opts.legend = { live: false };
    var u = new uPlot(opts, data, box);
    charts.push({ u: u, box: box });
    return u;
  }

  function drawBurn(s) {
    var box = $('burn');
    charts.forEach(function (c) {
      c.u.destroy();
    });
    charts = [];
    var burns = s.budgets.filter(function (b) {
      return b.burn !== null;
    });
    if (burns.length === 0) {
      box.replaceChildren(el('p', { class: 'empty' }, ['No money budget with a period on this scope.']));
      return;
    }
    box.replaceChildren();
    burns.forEach(function (b) {
      var cur = b.currency || s.currency;
      var wrap = el('div', { class: 'chart', 'data-burn': b.id }, [el('h3', null, [b.id + ' — ' + scopeText(b.scope)])]);
      box.append(wrap);
      var xs = [];
      var A = {},
        F = {};
      b.burn.actual.forEach(function (p) {
        xs.push(p[0]);
        A[p[0]] = p[1];
      });
      b.burn.forecast.forEach(function (p) {
        if (!(p[0] in A)) xs.push(p[0]);
        F[p[0]] = p[1];
      });
      xs = xs
        .filter(function (x, i) {
          return xs.indexOf(x) === i;
        })
        .sort(function (a, c) {
          return a - c;
        });
      var max = Number(b.max);
      var data = [
        xs.map(function (x) {
          return x / 1000;
        }),
        xs.map(function (x) {
          return x in A ? A[x] : null;
        }),
        xs.map(function (x) {
          return x in F ? F[x] : null;
        }),
        xs.map(function () {
          return max;
        }),
      ];
      plot(
        wrap,
        {
          height: 240,
          series: [
            {},
            { label: 'Spent (' + cur + ')', stroke: C.blue, width: 2 },
            {
              label: 'Forecast at current pace (' + cur + ')',
              stroke: C.orange,
              width: 2,
              dash: [6, 4],
              spanGaps: true,
              points: { show: false },
            },
            { label: 'Budget (' + cur + ')', stroke: C.vermillion, width: 2, points: { show: false } },
          ],
          scales: {
            y: {
              range: function (u, lo, hi) {
                return [0, Math.max(hi, max) * 1.05];
              },
            },
          },
          axes: [{ label: 'Date (UTC)' }, { label: 'Cumulative cost (' + cur + ')', size: 70 }],
        },
        data,
      );
    });
  }

  function drawTimeline(s) {
    var box = $('timeline');
    box.replaceChildren();
    var t = s.timeline;
    var xs = t.ok.map(function (_, i) {
      return (t.start + i * t.stepMs) / 1000;
    });
    var only = function (arr) {
      return arr.map(function (v) {
        return v > 0 ? v : null;
      });
    };
    var points = function () {
      return null;
    };
    plot(
      box,
      {
        height: 240,
        series: [
          {},
          { label: 'Succeeded', stroke: C.green, width: 1.5 },
          { label: 'Failed', stroke: C.vermillion, paths: points, points: { show: true, size: 7, fill: C.vermillion } },
          { label: 'Rate-limited', stroke: C.purple, paths: points, points: { show: true, size: 7, fill: C.purple } },
          { label: 'Other refusals', stroke: C.black, paths: points, points: { show: true, size: 5, fill: C.black } },
        ],
        axes: [{ label: 'Time (UTC)' }, { label: 'Calls per hour', size: 60 }],
      },
      [xs, t.ok, only(t.failed), only(t.rateLimited), only(t.refused)],
    );
  }

  // Sequential light-to-dark scale (cividis-like: readable with colour-vision deficiencies).
  var RAMP = ['#f2f2f2', '#d7e3f4', '#a9c4e6', '#6f9fd1', '#3b74b0', '#0f4c8a', '#00224e'];
  function drawHeatmap(s) {
    var h = s.heatmap;
    var max = 0;
    h.tokens.forEach(function (row) {
      row.forEach(function (v) {
        if (v > max) max = v;
      });
    });
    var head = el(
      'tr',
      null,
      [el('th', { scope: 'col' }, ['Day \\ hour'])].concat(
        Array.from({ length: 24 }, function (_, i) {
          return el('th', { scope: 'col' }, [String(i)]);
        }),
      ),
    );
    var rows = h.days.map(function (d, r) {
      return el(
        'tr',
        null,
        [el('th', { scope: 'row' }, [d.slice(5)])].concat(
          h.tokens[r].map(function (v, c) {
            var k = v === 0 ? 0 : 1 + Math.min(RAMP.length - 2, Math.floor((v / max) * (RAMP.length - 1)));
            return el('td', {
              style: 'background:' + RAMP[k],
              title: d + ' ' + String(c).padStart(2, '0') + ':00 UTC — ' + count(v) + ' tokens',
              'data-tokens': String(v),
            });
          }),
        ),
      );
    });
    var legend = el('p', { class: 'muted small legend' }, ['Tokens (input + output) per hour: ']);
    RAMP.forEach(function (c, i) {
      legend.append(el('span', { class: 'swatch', style: 'background:' + c, title: i === 0 ? '0' : '' }));
    });
    legend.append(' 0 … ' + count(max));
    $('heatmap').replaceChildren(
      el('div', { class: 'scroll' }, [el('table', null, [el('thead', null, [head]), el('tbody', null, rows)])]),
      legend,
    );
  }

  function drawWaste(s) {
    var w = s.waste;
    var rows = w.items
      .filter(function (i) {
        return i.cost !== '0';
      })
      .map(function (i) {
        return el('tr', null, [el('td', null, [i.label]), el('td', { class: 'num' }, [money(i.cost, s.currency)])]);
      });
    $('waste').replaceChildren(
      el('p', null, [
        'Total in the period: ',
        el('strong', { id: 'waste-total', 'data-exact': w.total }, [money(w.total, s.currency)]),
        ' · per 30 days: ' + money(w.monthly, s.currency),
      ]),
      rows.length === 0 ? el('p', { class: 'empty' }, ['No waste found.']) : el('table', { class: 'list' }, [el('tbody', null, rows)]),
    );
  }

  function drawBreakers(s) {
    var open = s.breakers.filter(function (b) {
      return b.state !== 'closed';
    });
    var box = $('breakers');
    var summary = el('p', { id: 'breakers-summary' }, [open.length + ' open of ' + s.breakers.length]);
    if (open.length === 0) {
      box.replaceChildren(summary);
      return;
    }
    box.replaceChildren(
      summary,
      el('table', { class: 'list' }, [
        el(
          'tbody',
          null,
          open.map(function (b) {
            return el('tr', null, [
              el('td', null, [b.key]),
              el('td', null, [b.state]),
              el('td', { class: 'num' }, [b.failures + ' failures']),
              el('td', null, [b.halfOpenAt ? 'probe at ' + utc(b.halfOpenAt) : '']),
            ]);
          }),
        ),
      ]),
    );
  }

  function drawRecs(s) {
    var box = $('recs');
    if (s.recommendations.length === 0) {
      box.replaceChildren(el('li', { class: 'empty' }, ['Nothing to recommend.']));
      return;
    }
    box.replaceChildren.apply(
      box,
      s.recommendations.map(function (r) {
        return el('li', { class: 'rec ' + r.priority }, [
          el('span', { class: 'badge ' + r.priority }, [r.priority]),
          ' ',
          el('strong', null, [r.title]),
          el('div', { class: 'muted' }, [r.description]),
          // A recommendation without a money saving (queueing instead of failing) says what it improves instead.
          el('div', { class: 'small' }, [
            Number(r.estimatedSavings) > 0
              ? 'Saves about ' + money(r.estimatedSavings, s.currency) + ' per 30 days'
              : 'Impact: ' + r.impact,
          ]),
        ]);
      }),
    );
  }

  function drawAlerts() {
    var box = $('alerts');
    if (alerts.length === 0) {
      box.replaceChildren(el('li', { class: 'empty' }, ['No alerts.']));
      return;
    }
    box.replaceChildren.apply(
      box,
      alerts
        .slice()
        .reverse()
        .map(function (a) {
          return el('li', { class: 'alert ' + a.kind, role: 'alert' }, [
            el('span', { class: 'badge ' + a.kind }, [a.kind]),
            ' ' + utc(a.at) + ' — ' + a.message,
          ]);
        }),
    );
  }

  function draw(s) {
    current = s;
    alerts = s.alerts.slice();
    $('meta').textContent =
      scopeText(s.scope) +
      ' · ' +
      s.period +
      ' (' +
      s.from.slice(0, 10) +
      ' to ' +
      s.to.slice(0, 16).replace('T', ' ') +
      ' UTC) · as of ' +
      utc(s.at) +
      ' · ' +
      s.currency;
    drawTotals(s);
    drawGauges(s);
    drawBurn(s);
    drawHeatmap(s);
    drawTimeline(s);
    drawWaste(s);
    drawBreakers(s);
    drawRecs(s);
    drawAlerts();
    document.body.setAttribute('data-at', String(s.at));
  }

  var resizing = 0;
  window.addEventListener('resize', function () {
    clearTimeout(resizing);
    resizing = setTimeout(function () {
      charts.forEach(function (c) {
        c.u.setSize({ width: width(c.box), height: c.u.height });
      });
    }, 100);
  });

  var embedded = window.__GOVERNOR_SNAPSHOT__;
  if (embedded) {
    $('status').textContent = 'Report generated ' + utc(embedded.at);
    draw(embedded);
    return;
  }
  // Server-Sent Events: one-way pushes over plain HTTP, reconnected by the browser itself.
  var source = new EventSource('api/events' + q);
  source.addEventListener('snapshot', function (e) {
    $('status').textContent = 'Live';
    draw(JSON.parse(e.data));
  });
  source.addEventListener('alert', function (e) {
    alerts.push(JSON.parse(e.data));
    drawAlerts();
  });
  source.addEventListener('problem', function (e) {
    $('status').textContent = 'Not refreshed: ' + JSON.parse(e.data).message;
  });
  source.addEventListener('error', function () {
    $('status').textContent = 'Reconnecting…';
  });
})();
