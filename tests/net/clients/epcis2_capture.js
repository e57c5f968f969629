// Captures EPCIS documents at a Kiroku node with evrythng's epcis2.js (an EPCIS 2.0
// client nobody here wrote): its EPCISDocument validation, its capture() request and its
// CaptureResponse polling of the capture job. Prints one JSON line per document.
//   node epcis2_capture.js URL TOKEN GOOD.jsonld BAD.jsonld
const fs = require('fs');
const { setup, capture, EPCISDocument, CaptureResponse } = require('epcis2.js');

async function run(url, token, file) {
  setup({ apiUrl: url, headers: { 'content-type': 'application/ld+json', authorization: `Bearer ${token}` },
          documentValidation: true, checkExtensions: false });
  const doc = new EPCISDocument(JSON.parse(fs.readFileSync(file, 'utf8')));
  const res = await capture(doc, { timeout: 10000 });
  const cr = new CaptureResponse(res);
  await cr.pollForTheCaptureToFinish(20, 200, { timeout: 10000 });
  return { file, status: res.status, location: cr.getLocation(), running: cr.getRunningStatus(),
           success: cr.getSuccessStatus(), errors: cr.getErrors() };
}

(async () => {
  const [url, token, ...files] = process.argv.slice(2);
  for (const f of files) {
    try { console.log(JSON.stringify(await run(url, token, f))); }
    catch (e) { console.log(JSON.stringify({ file: f, thrown: String(e && e.message || e) })); }
  }
})();
