// Error text for the chat bubbles: a model server (or a proxy in front of it) may answer with a whole
// HTML error page; the bubble shows its title or first words instead, never the markup.
(() => {
  "use strict";
  const LIMIT = 300;
  const looksLikeHtml = (text) => /<\s*(!doctype|html|head|body|title|h1)\b/i.test(text);
  const squeeze = (text) => text.replace(/\s+/g, " ").trim();
  const decode = (text) => text.replace(/&(amp|lt|gt|quot|#39|nbsp);/g, (_, name) =>
    ({ amp: "&", lt: "<", gt: ">", quot: '"', "#39": "'", nbsp: " " })[name]);

  function readable(message) {
    const text = String(message || "");
    if (!looksLikeHtml(text)) return text.length > LIMIT ? `${text.slice(0, LIMIT)}…` : text;
    const prefix = squeeze(text.slice(0, text.search(/<\s*(!doctype|html|head|body|title|h1)\b/i)));
    const title = text.match(/<title[^>]*>([\s\S]*?)<\/title>/i) || text.match(/<h1[^>]*>([\s\S]*?)<\/h1>/i);
    let summary = title ? squeeze(decode(title[1].replace(/<[^>]*>/g, ""))) : "";
    if (!summary) {
      const body = text.replace(/<(script|style)[^>]*>[\s\S]*?<\/\1>/gi, " ").replace(/<[^>]*>/g, " ");
      summary = squeeze(decode(body)).slice(0, 120);
    }
    const lead = prefix ? `${prefix.replace(/[:\s]+$/, "")}: ` : "";
    return `${lead}the model server answered with an error page${summary ? ` (${summary})` : ""}.`;
  }

  window.ModelHubChatErrors = { readable };
})();
