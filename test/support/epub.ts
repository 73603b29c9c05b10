import { strToU8, zipSync } from "fflate";

/** One spine document of a test EPUB. */
export interface EpubPage {
  /** File name inside OEBPS/. */
  file: string;
  /** The title the table of contents gives it (absent: not in the contents). */
  tocTitle?: string;
  /** The body's inner XHTML. */
  body: string;
  /** `epub:type` of the body's section. */
  epubType?: string;
  /** `linear="no"` in the spine. */
  nonLinear?: boolean;
}

const xhtml = (page: EpubPage) => `<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE html>
<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops">
<head><title>${page.tocTitle ?? page.file}</title></head>
<body><section${page.epubType ? ` epub:type="${page.epubType}"` : ""}>${page.body}</section></body>
</html>
`;

/**
 * A small EPUB 3 (with an EPUB 2 NCX table of contents, as most books carry both), its pages in
 * the spine in the order given. Stored uncompressed `mimetype` first, as the format requires.
 */
export function makeEpub(title: string, pages: EpubPage[]): Uint8Array {
  const id = (i: number) => `p${i + 1}`;
  const manifest = pages.map((p, i) => `    <item id="${id(i)}" href="${p.file}" media-type="application/xhtml+xml"/>`).join("\n");
  const spine = pages.map((p, i) => `    <itemref idref="${id(i)}"${p.nonLinear ? ' linear="no"' : ""}/>`).join("\n");
  const listed = pages.flatMap((p, i) => (p.tocTitle ? [{ p, i }] : []));
  const navPoints = listed
    .map(({ p, i }, n) => `    <navPoint id="n${i + 1}" playOrder="${n + 1}"><navLabel><text>${p.tocTitle}</text></navLabel><content src="${p.file}"/></navPoint>`)
    .join("\n");
  const opf = `<?xml version="1.0" encoding="utf-8"?>
<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="uid">
  <metadata xmlns:dc="http://purl.org/dc/elements/1.1/">
    <dc:identifier id="uid">urn:uuid:00000000-0000-4000-8000-000000000000</dc:identifier>
    <dc:title>${title}</dc:title>
    <dc:language>en</dc:language>
    <meta property="dcterms:modified">2026-01-01T00:00:00Z</meta>
  </metadata>
  <manifest>
    <item id="ncx" href="toc.ncx" media-type="application/x-dtbncx+xml"/>
${manifest}
  </manifest>
  <spine toc="ncx">
${spine}
  </spine>
</package>
`;
  const ncx = `<?xml version="1.0" encoding="utf-8"?>
<ncx xmlns="http://www.daisy.org/z3986/2005/ncx/" version="2005-1">
  <head><meta name="dtb:uid" content="urn:uuid:00000000-0000-4000-8000-000000000000"/></head>
  <docTitle><text>${title}</text></docTitle>
  <navMap>
${navPoints}
  </navMap>
</ncx>
`;
  const container = `<?xml version="1.0"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
  <rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles>
</container>
`;
  const files: Record<string, [Uint8Array, { level: 0 }] | Uint8Array> = {
    mimetype: [strToU8("application/epub+zip"), { level: 0 }],
    "META-INF/container.xml": strToU8(container),
    "OEBPS/content.opf": strToU8(opf),
    "OEBPS/toc.ncx": strToU8(ncx),
  };
  for (const page of pages) files[`OEBPS/${page.file}`] = strToU8(xhtml(page));
  // A fixed time: the same pages make the same bytes.
  return zipSync(files, { mtime: new Date("2026-01-01T00:00:00Z") });
}

/** A small EPUB with a cover, a title page, a contents page, three chapters and two pages of back matter. */
export function sampleEpub(): Uint8Array {
  return makeEpub("The Lamp at Low Water", [
    { file: "cover.xhtml", body: '<img src="cover.jpg" alt="cover"/>', epubType: "cover" },
    { file: "title.xhtml", tocTitle: "Title Page", body: "<h1>The Lamp at Low Water</h1><p>A novel</p>" },
    { file: "copyright.xhtml", body: "<p>Copyright 2026. All rights reserved.</p>", epubType: "copyright-page" },
    { file: "ch1.xhtml", tocTitle: "Chapter 1: The Grey Tide", body: "<h1>The Grey Tide</h1><p>Fog came in <em>early</em> that year.</p><p>Nell rowed out.</p>" },
    { file: "ch2.xhtml", tocTitle: "Chapter 2: The Drowned Marker", body: "<h1>The Drowned Marker</h1><p>The marker stood under water.</p>", epubType: "chapter" },
    { file: "ch10.xhtml", tocTitle: "Chapter 3: Lamplight", body: "<h1>Lamplight</h1><p>The lamp burned all night.</p>" },
    { file: "notes.xhtml", body: "<p>A note on the tides.</p>", nonLinear: true },
    { file: "ack.xhtml", tocTitle: "Acknowledgements", body: "<p>Thanks to everyone.</p>" },
    { file: "author.xhtml", tocTitle: "About the Author", body: "<p>She lives by the sea.</p>" },
  ]);
}
