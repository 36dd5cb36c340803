import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

// The page is built into the Python package, which serves it (skyweave serve); nothing is fetched
// from outside at run time: OpenLayers, milsymbol and the Natural Earth base map are bundled.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  build: {
    outDir: fileURLToPath(new URL('../skyweave/web/static', import.meta.url)),
    emptyOutDir: true,
    chunkSizeWarningLimit: 2000,
    sourcemap: false,
  },
});
