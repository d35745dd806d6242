/**
 * Loads the shared vector files (`/work/main/testdata/vectors/*.json`, i.e. `../testdata` from
 * web/) through Vite's glob import, which works the same in Node and in Chromium.
 */
const files = import.meta.glob<string>("../../../../testdata/vectors/*.json", { query: "?raw", import: "default" });

export function vectorFileNames(): string[] {
  return Object.keys(files).map((p) => p.slice(p.lastIndexOf("/") + 1));
}

export async function loadVectorFile(name: string): Promise<unknown> {
  const entry = Object.entries(files).find(([p]) => p.endsWith(`/${name}`));
  if (entry === undefined) throw new Error(`testdata/vectors/${name} is missing`);
  return JSON.parse(await entry[1]()) as unknown;
}
