export { DirectoryCache, type DirectoryExporter } from './directory-cache.js';
