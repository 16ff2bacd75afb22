/* 统计: draws the charts from the page's JSON block (#dashboard-data); a bar opens the
   inbox behind it. The same numbers are in the tables, which work without this file. */
(function () {
  "use strict";
  var source = document.getElementById("dashboard-data");
  if (!source || typeof window.echarts === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var RED = "#b3261e", GREY = "#8a8f98";

  function bars(element, names, series) {
    if (!element) { return; }
    var chart = window.echarts.init(element, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 8, right: 8, bottom: 8, top: 32, containLabel: true },
      xAxis: { type: "category", data: names, axisLabel: { interval: 0, rotate: names.length > 6 ? 30 : 0 } },
      yAxis: { type: "value", minInterval: 1 },
      series: series.map(function (s) {
        return { name: s.name, type: "bar", itemStyle: { color: s.color },
                 data: s.values.map(function (v) { return { value: v.value, link: v.link }; }) };
      })
    });
    chart.on("click", function (params) {
      var link = params.data && params.data.link;
      if (link) { window.location.href = link; }
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }

  function values(items, key) {
    return items.map(function (item) { return { value: item[key], link: item.links[key] }; });
  }

  bars(document.getElementById("chart-rows"), data.rows.map(function (r) { return r.name; }), [
    { name: "收到", color: GREY, values: values(data.rows, "received") },
    { name: "采用", color: RED, values: values(data.rows, "adopted") }
  ]);
  bars(document.getElementById("chart-levels"), data.levels.map(function (l) { return l.name; }), [
    { name: "该级及以上采用", color: RED, values: values(data.levels, "adopted") },
    { name: "领导批示", color: GREY, values: values(data.levels, "instructed") }
  ]);
}());
