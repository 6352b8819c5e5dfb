/**
 * The official whisper.cpp ggml models users can pull by name. Checksums are the SHA-1 sums that
 * upstream publishes (whisper.cpp models/README.md, 1.9.1); an entry may also carry a SHA-256, which
 * the downloader then prefers.
 */
export interface RegistryEntry {
  name: string;
  file: string;
  sha1?: string;
  sha256?: string;
  /** approximate size, for display */
  mib: number;
  english: boolean;
  quantized: boolean;
}

const ENTRIES: Array<[name: string, mib: number, sha1: string]> = [
  ['tiny', 75, 'bd577a113a864445d4c299885e0cb97d4ba92b5f'],
  ['tiny.en', 75, 'c78c86eb1a8faa21b369bcd33207cc90d64ae9df'],
  ['base', 142, '465707469ff3a37a2b9b8d8f89f2f99de7299dac'],
  ['base.en', 142, '137c40403d78fd54d454da0f9bd998f78703390c'],
  ['small', 466, '55356645c2b361a969dfd0ef2c5a50d530afd8d5'],
  ['small.en', 466, 'db8a495a91d927739e50b3fc1cc4c6b8f6c2d022'],
  ['small.en-tdrz', 465, 'b6c6e7e89af1a35c08e6de56b66ca6a02a2fdfa1'],
  ['medium', 1536, 'fd9727b6e1217c2f614f9b698455c4ffd82463b4'],
  ['medium.en', 1536, '8c30f0e44ce9560643ebd10bbe50cd20eafd3723'],
  ['large-v1', 2970, 'b1caaf735c4cc1429223d5a74f0f4d0b9b59a299'],
  ['large-v2', 2970, '0f4c8e34f21cf1a914c59d8b3ce882345ad349d6'],
  ['large-v2-q5_0', 1126, '00e39f2196344e901b3a2bd5814807a769bd1630'],
  ['large-v3', 2970, 'ad82bf6a9043ceed055076d0fd39f5f186ff8062'],
  ['large-v3-q5_0', 1126, 'e6e2ed78495d403bef4b7cff42ef4aaadcfea8de'],
  ['large-v3-turbo', 1536, '4af2b29d7ec73d781377bfd1758ca957a807e941'],
  ['large-v3-turbo-q5_0', 547, 'e050f7970618a659205450ad97eb95a18d69c9ee'],
];

export const REGISTRY: readonly RegistryEntry[] = ENTRIES.map(([name, mib, sha1]) => ({
  name,
  file: `ggml-${name}.bin`,
  sha1,
  mib,
  english: name.includes('.en'),
  quantized: /-q\d/.test(name),
}));

export const DEFAULT_BASE_URL = 'https://huggingface.co/ggerganov/whisper.cpp/resolve/main';

export function registryEntry(name: string): RegistryEntry | undefined {
  return REGISTRY.find((e) => e.name === name || e.file === name);
}

/** Where a model is fetched from; PRISM_MODEL_BASE_URL points at a mirror. */
export function modelUrl(entry: RegistryEntry, baseUrl = process.env.PRISM_MODEL_BASE_URL || DEFAULT_BASE_URL): string {
  return `${baseUrl.replace(/\/+$/, '')}/${entry.file}`;
}
