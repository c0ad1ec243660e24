export { PriceTable, type ModelPrice, type TokenUsage } from './price-table.js';
