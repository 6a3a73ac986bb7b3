// MathJax settings for pymdownx.arithmatex (generic mode). MathJax itself is
// served from javascripts/vendor/ (no CDN), with SVG output, which needs no
// web fonts: the formulas render offline and from file://.
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"]],
    displayMath: [["\\[", "\\]"]],
    processEscapes: true,
    processEnvironments: true
  },
  svg: {
    fontCache: "global"
  },
  options: {
    ignoreHtmlClass: ".*|",
    processHtmlClass: "arithmatex"
  }
};

// Material's instant navigation swaps page content without reloading;
// typeset again after each swap (MathJax may still be starting on the first).
document$.subscribe(() => {
  if (!window.MathJax.startup || !window.MathJax.startup.output) {
    return;
  }
  if (typeof MathJax.startup.output.clearCache === "function") {
    MathJax.startup.output.clearCache();  // CHTML output only; SVG has no cache to clear
  }
  MathJax.typesetClear();
  MathJax.texReset();
  MathJax.typesetPromise();
});
