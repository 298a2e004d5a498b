import { $ } from './app.js';
