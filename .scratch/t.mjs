import { Document } from "yaml";
const v = { a: "2026-11-29T22:55:18.783Z", b: "16:9", c: "yes", d: true, e: 3, f: "1792x1024", g: "on", h: "12:30:00", i: "0123" };
console.log(new Document(v, { version: "1.1" }).toString());
