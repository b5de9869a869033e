export interface InitSchema {
  namespace?: string;
  skipInstall?: boolean;
}
