"""BraVe: broaden your views for self-supervised video learning (Recasens et al., ICCV 2021)."""
