// Loads llama.cpp through the npm package node-llama-cpp installed in $LLAMACPP_PEER_DIR (its prebuilt
// CPU backend; never built or downloaded here). Shared by the reference-data scripts and the peer
// benchmark, so all of them run the same llama.cpp the same way.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

// Returns { llama, version (of node-llama-cpp), tag (of llama.cpp) }; exits with status 2 and a message
// naming `script` when LLAMACPP_PEER_DIR is not set.
export async function load_peer(script, threads) {
  const dir = process.env.LLAMACPP_PEER_DIR;
  if (!dir) {
    console.error(`${script}: set LLAMACPP_PEER_DIR to a directory with node-llama-cpp installed`);
    process.exit(2);
  }
  const pkg = join(dir, "node_modules", "node-llama-cpp");
  const { getLlama, LlamaLogLevel } = await import(pathToFileURL(join(pkg, "dist", "index.js")).href);
  const read_json = (...p) => JSON.parse(readFileSync(join(pkg, ...p), "utf8"));
  const llama = await getLlama({
    gpu: false, build: "never", usePrebuiltBinaries: true, skipDownload: true, progressLogs: false,
    logLevel: LlamaLogLevel.error, maxThreads: threads,
  });
  return { llama, version: read_json("package.json").version, tag: read_json("llama", "llama.cpp.info.json").tag };
}
