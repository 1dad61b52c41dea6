// The layering rules of docs/ARCHITECTURE.md, checked in CI (`npm run depcheck`).
// Layers, top to bottom; a file may import its own layer's folder and any layer below, never above:
//   app, cli            composition: server, module registry, modules, command line
//   http                routes and the HTTP shell (SigV4, audited answers, the read-only S3 server)
//   control-plane       API operations          capture   sources that turn calls into records
//   consumers           journal readers with their own cursors (event history, trail delivery, Lake writer)
//   stores, journal, lake, auth   storage contracts and their backends, the Lake engine, authentication
//   normalize, selectors, event-patterns, sigma   record rules, the event-selector, EventBridge-pattern and Sigma matchers
//   model, lib, config, client
const LAYERS = [
  ["app", "cli"],
  ["http"],
  ["control-plane", "capture"],
  ["consumers"],
  ["stores", "journal", "lake", "auth"],
  ["normalize", "selectors", "event-patterns", "sigma"],
  ["model", "lib", "config", "client"],
];

const folder = (name) => `^src/${name}/`;

/** For each layer, a rule forbidding imports of any layer above it. */
const upwardRules = LAYERS.slice(1).map((layer, index) => ({
  name: `no-upward-from-${layer.join("-")}`,
  comment: `${layer.join(", ")} must not import the layers above: ${LAYERS.slice(0, index + 1)
    .flat()
    .join(", ")}.`,
  severity: "error",
  from: { path: layer.map(folder) },
  to: {
    path: LAYERS.slice(0, index + 1)
      .flat()
      .map(folder),
  },
}));

/** Folders of one layer that must not import each other. */
const siblingRules = [
  ["control-plane", "capture"],
  ["capture", "control-plane"],
].map(([from, to]) => ({
  name: `no-${from}-to-${to}`,
  comment: `${from} and ${to} are side by side; what both need belongs in a lower layer.`,
  severity: "error",
  from: { path: folder(from) },
  to: { path: folder(to) },
}));

module.exports = {
  forbidden: [
    ...upwardRules,
    ...siblingRules,
    {
      name: "no-circular",
      comment: "Import cycles hide which module owns what.",
      severity: "error",
      from: { path: "^src/" },
      to: { circular: true },
    },
    {
      name: "consumers-independent",
      comment: "A consumer never imports another consumer: each reads the journal with its own cursor.",
      severity: "error",
      from: { path: "^src/consumers/([^/]+)/" },
      to: { path: "^src/consumers/", pathNot: ["^src/consumers/$1/", "^src/consumers/[^/]+\\.ts$"] },
    },
    {
      name: "stores-through-their-contract",
      comment:
        "Outside a store's folder, only its index.ts (the contract and the backends' open functions) may be imported.",
      severity: "error",
      from: { path: "^src/", pathNot: ["^src/stores/([^/]+)/", "^src/app/"] },
      to: { path: "^src/stores/([^/]+)/", pathNot: "^src/stores/[^/]+/index\\.ts$" },
    },
    {
      name: "journal-through-its-contract",
      comment: "Outside src/journal/, only the contract (journal.ts, index.ts) may be imported.",
      severity: "error",
      from: { path: "^src/", pathNot: ["^src/journal/", "^src/app/"] },
      to: { path: "^src/journal/", pathNot: "^src/journal/(journal|index)\\.ts$" },
    },
    {
      name: "lake-catalog-through-its-contract",
      comment:
        "Outside src/lake/catalog/, only the contract (lake-catalog.ts, channel.ts) and index.ts may be imported.",
      severity: "error",
      from: { path: "^src/", pathNot: "^src/lake/catalog/" },
      to: { path: "^src/lake/catalog/", pathNot: "^src/lake/catalog/(lake-catalog|channel|index)\\.ts$" },
    },
    {
      name: "src-not-tests",
      comment: "Production code never imports test helpers.",
      severity: "error",
      from: { path: "^src/", pathNot: "\\.test\\.ts$" },
      to: { path: "^test/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    includeOnly: "^src/",
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { exportsFields: ["exports"], conditionNames: ["import", "require", "node", "default"] },
  },
};
