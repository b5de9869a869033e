#!/usr/bin/env node
import 'reflect-metadata';
import { program } from '../program';

void program().parseAsync(process.argv);
